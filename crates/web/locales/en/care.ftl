# Orders, ratings and the public pages customers see.

order-subject = Order { $order }
order-stage-created = Your order { $order } is placed. Follow it here: { $link }
order-stage-accepted = Your order { $order } is confirmed. Follow it here: { $link }
order-stage-accepted-eta = Your order { $order } is confirmed; expect us { $eta }. Follow it here: { $link }
order-stage-in_progress = Order { $order }: work has started.
order-stage-in_progress-eta = Order { $order }: work has started; we will finish { $eta }.
order-stage-on_the_way = Order { $order }: the performer is on the way.
order-stage-on_the_way-eta = Order { $order }: the performer is on the way and will arrive { $eta }.
order-stage-completed = Order { $order } is done. Thank you for choosing us!
order-stage-cancelled = Order { $order } is cancelled. If that is a mistake, just reply to this message.
order-stage-other = Order { $order }: { $stage }.
order-eta-moved = Order { $order } is delayed, we are sorry. Please expect us { $eta }.

rating-ask-order = How did order { $order } go? Rate it, it takes half a minute: { $link }
rating-ask-case = We have answered your request “{ $subject }”. Please rate how we did: { $link }
rating-remind = A reminder: your rating matters to us. { $link }
rating-problem-order = Rating { $score }: order { $order }
rating-problem-case = Rating { $score }: case #{ $number }
rating-problem-score = Rating: { $score } of 5.
rating-problem-reasons = What went wrong: { $reasons }.
rating-problem-comment = Comment: { $comment }

rating-reason-late = Late
rating-reason-no_show = Nobody came
rating-reason-quality = Quality of work
rating-reason-rude = Rudeness
rating-reason-damage = Damaged belongings
rating-reason-incomplete = Not everything done
rating-reason-wrong_amount = Wrong amount
rating-reason-other = Other

rate-page-title = Rating
rate-title-order = How did order { $order } go?
rate-title-case = How did we do with case #{ $number }?
rate-performer = Performer: { $performer }
rate-agent = Agent: { $agent }
rate-score = Your rating
rate-score-1 = 1 — very bad
rate-score-2 = 2 — bad
rate-score-3 = 3 — fine
rate-score-4 = 4 — good
rate-score-5 = 5 — excellent
rate-reasons = What went wrong?
rate-comment = Comment
rate-favourite = Add { $performer } to my favourite performers
rate-submit = Send
rate-thanks = Thank you for your rating!
rate-thanks-low = Thank you for telling us. We are sorry it went that way: we will contact you today.
rate-already = You have already rated this. Thank you!
rate-not-found = This rating link was not found. Perhaps it has a typo.
rate-error-score = Choose a rating from 1 to 5.
rate-error-reasons = Tick reasons from the list.

track-page-title = Order { $order }
track-stage-created = Placed
track-stage-accepted = Confirmed
track-stage-in_progress = In progress
track-stage-on_the_way = On the way
track-stage-completed = Done
track-stage-cancelled = Cancelled
track-eta = Expected { $eta }
track-performer = Performer: { $performer }
track-follow = Follow on the map
track-not-found = Order not found. Perhaps the link has a typo.
