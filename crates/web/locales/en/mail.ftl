# Mail Opora sends by itself.

mail-ack-body =
    Hello,

    We have received your request "{ $subject }" and registered it as number { $number }. We will reply as soon as we have looked into it.

    To add anything, simply reply to this message: the number [#{ $number }] in the subject keeps it with your request.

    This message was sent automatically; there is no need to answer it.
